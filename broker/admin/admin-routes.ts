import type { BrokerHttpServer } from '../http';
import { sendJson } from '../http';
import { TopicName } from '../pulsar';
import type { BrokerService, KafkaGroupsView } from '../service';
import { httpStatusOf } from '../service';
import { registerKafkaGroupRoutes } from './kafka-group-routes';
import { registerTenantNamespaceRoutes } from './tenant-namespace-routes';
import { registerTopicRoutes } from './topic-routes';

export interface AdminRoutesOptions {
  broker: BrokerService;
  /** The broker's HTTP URL as clients should use it (lookup answers). */
  webServiceUrl: () => string;
  /**
   * The Kafka groups while the Kafka listener runs (broker.ts sets it once the listener is up), undefined
   * otherwise: the Kafka group routes then answer 412 and topic stats have no `kafkaGroups`.
   */
  kafkaGroups?: () => KafkaGroupsView | undefined;
}

/** Registers Pulsar's /admin/v2 subset on the broker's HTTP server. */
export function registerAdminRoutes(server: BrokerHttpServer, options: AdminRoutesOptions): void {
  registerTenantNamespaceRoutes(server, options.broker);
  const kafkaGroups = options.kafkaGroups ?? ((): undefined => undefined);
  registerTopicRoutes(server, options.broker, kafkaGroups);
  registerKafkaGroupRoutes(server, kafkaGroups);
  registerLookupRoutes(server, options);
}

/**
 * HTTP lookup (`/lookup/v2/topic/persistent/...`): one broker owns every topic, so the answer is this broker.
 * Only the HTTP URL is given (WebSocket clients connect there); there is no binary-protocol listener yet.
 */
function registerLookupRoutes(server: BrokerHttpServer, options: AdminRoutesOptions): void {
  server.route('GET', '/lookup/v2/topic/persistent/:tenant/:namespace/:topic', async ({ res, params }) => {
    const name = TopicName.parse(
      `persistent://${params.tenant ?? ''}/${params.namespace ?? ''}/${params.topic ?? ''}`,
    );
    await options.broker.namespaces.getPolicies(name.namespace);
    const httpUrl = options.webServiceUrl();
    sendJson(res, 200, { brokerUrl: null, brokerUrlTls: null, httpUrl, httpUrlTls: null, nativeUrl: null });
  });
}

/**
 * The status Pulsar's admin API answers for an error a handler threw: the broker's mapping (BrokerError codes,
 * PulsarFormatError 400, managed-ledger states), 500 for anything else.
 */
export function adminErrorStatus(error: unknown): number {
  return httpStatusOf(error);
}
