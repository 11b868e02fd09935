// API key parsing is part of the shared configuration: it lives in libs/runtime.
export * from '@crm/runtime/api-keys';
