export * from './pulsar';
export * from './service';
