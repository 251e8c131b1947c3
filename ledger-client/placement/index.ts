export type {
  BookieView,
  EnsemblePlacementPolicy,
  PlacementRequest,
  ReplaceRequest,
} from './placement-policy';
export { BookieWatcher } from './bookie-watcher';
export { BookieHealth } from './bookie-health';
export type { BookieHealthOptions } from './bookie-health';
export type { PlacementOptions } from './placement-base';
export { RandomPlacementPolicy } from './random-placement';
export { RackawarePlacementPolicy } from './rackaware-placement';
export type { RackawareSettings } from './rackaware-placement';
export { DEFAULT_RACK, parseBookieRacks } from './bookie-racks';
export { createPlacementPolicy } from './create-placement-policy';
export type { PlacementSettings } from './create-placement-policy';
