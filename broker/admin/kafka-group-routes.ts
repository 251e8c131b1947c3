import type { BrokerHttpServer } from '../http';
import { HttpError, sendJson } from '../http';
import type { KafkaGroupsView } from '../service';

/** Where the Kafka groups are, beside Pulsar's /admin/v2 (Pulsar has no such endpoint: KoP shows none). */
export const KAFKA_GROUPS_PATH = '/admin/v2/kafka/groups';

/**
 * The Kafka consumer groups, read-only: `GET /admin/v2/kafka/groups` lists them, `GET .../groups/{group}`
 * describes one with its members, their assignments and its committed offsets with lag. `kafkaGroups()` is the
 * running Kafka listener's view, undefined without one (412: there are no Kafka groups on this broker).
 */
export function registerKafkaGroupRoutes(
  server: BrokerHttpServer,
  kafkaGroups: () => KafkaGroupsView | undefined,
): void {
  const view = (): KafkaGroupsView => {
    const found = kafkaGroups();
    if (found === undefined) {
      throw new HttpError(412, 'Kafka is not enabled on this broker: kafkaListeners is empty');
    }
    return found;
  };

  server.route('GET', KAFKA_GROUPS_PATH, ({ res }) => {
    sendJson(res, 200, view().listGroups());
  });
  server.route('GET', `${KAFKA_GROUPS_PATH}/:group`, async ({ res, params }) => {
    const groupId = checkedGroupId(params.group);
    const description = await view().describeGroup(groupId);
    if (description === undefined) throw new HttpError(404, `Kafka group not found: ${groupId}`);
    sendJson(res, 200, description);
  });
}

/**
 * A group id from the path. Kafka allows any string but the empty one (INVALID_GROUP_ID); the router already
 * refuses a segment over 1024 characters (414) and a bad escape (400), and `groups/` is the list.
 */
export function checkedGroupId(value: string | undefined): string {
  if (value === undefined || value === '') throw new HttpError(400, 'Invalid Kafka group id: empty');
  return value;
}
