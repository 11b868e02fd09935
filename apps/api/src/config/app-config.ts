// The configuration is shared by every app: it lives in libs/runtime.
export * from '@crm/runtime/app-config';
