// Shared by every app that runs the projector: it lives in libs/runtime.
export * from '@crm/runtime/projection-list';
