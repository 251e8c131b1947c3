export * from './pulsar';
