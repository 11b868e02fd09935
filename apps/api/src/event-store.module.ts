// Shared by every app: it lives in libs/runtime.
export * from '@crm/runtime/event-store.module';
