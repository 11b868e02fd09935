export * from './campaigns.projection';
