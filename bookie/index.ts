export { bookieConfigSchema } from './bookie-config';
export type { BookieConfig } from './bookie-config';
