import type { GroupCoordinator } from '../group';
import { ApiKey } from '../protocol';
import type { KafkaRequest, ResponseBody, SupportedApiKey } from '../protocol';
import type { KafkaConnectionInfo } from '../server';

/** The node FindCoordinator names: this broker as its clients reach it (the advertised Kafka listener). */
export interface AdvertisedNode {
  nodeId: number;
  host: string;
  port: number;
}

export interface KafkaGroupApisOptions {
  coordinator: GroupCoordinator;
  advertised: AdvertisedNode;
}

const GROUP_API_KEYS: ReadonlySet<number> = new Set([
  ApiKey.FindCoordinator,
  ApiKey.JoinGroup,
  ApiKey.SyncGroup,
  ApiKey.Heartbeat,
  ApiKey.LeaveGroup,
  ApiKey.OffsetCommit,
  ApiKey.OffsetFetch,
  ApiKey.DescribeGroups,
  ApiKey.ListGroups,
]);

/**
 * The group APIs of the Kafka listener: FindCoordinator (this broker coordinates every group) and the eight APIs
 * of the GroupCoordinator, whose request and response objects are the codec's bodies, so each one passes through
 * unchanged. JoinGroup also takes the header's client id and the connection's address (DescribeGroups shows them,
 * the member id starts with the client id). A request the coordinator refuses as malformed throws, which closes
 * the connection (the codec only builds well-formed bodies, so only a bug gets there).
 */
export class KafkaGroupApis {
  private readonly coordinator: GroupCoordinator;
  private readonly advertised: AdvertisedNode;

  constructor(options: KafkaGroupApisOptions) {
    this.coordinator = options.coordinator;
    this.advertised = { ...options.advertised };
  }

  /** True for the api keys answered here. */
  handles(apiKey: number): boolean {
    return GROUP_API_KEYS.has(apiKey);
  }

  async handle(
    request: KafkaRequest,
    connection: KafkaConnectionInfo,
  ): Promise<ResponseBody<SupportedApiKey>> {
    switch (request.apiKey) {
      case ApiKey.FindCoordinator:
        return {
          errorCode: 0,
          nodeId: this.advertised.nodeId,
          host: this.advertised.host,
          port: this.advertised.port,
        };
      case ApiKey.JoinGroup:
        return this.coordinator.joinGroup({
          ...request.body,
          clientId: request.clientId ?? '',
          clientHost: clientHost(connection.remoteAddress),
        });
      case ApiKey.SyncGroup:
        return this.coordinator.syncGroup(request.body);
      case ApiKey.Heartbeat:
        return this.coordinator.heartbeat(request.body);
      case ApiKey.LeaveGroup:
        return this.coordinator.leaveGroup(request.body);
      case ApiKey.OffsetCommit:
        return this.coordinator.offsetCommit(request.body);
      case ApiKey.OffsetFetch:
        return this.coordinator.offsetFetch(request.body);
      case ApiKey.DescribeGroups:
        return this.coordinator.describeGroups(request.body);
      case ApiKey.ListGroups:
        return this.coordinator.listGroups();
      default:
        throw new Error(`KafkaGroupApis does not answer api key ${request.apiKey}`);
    }
  }
}

/**
 * The client's address as Kafka shows it (Java's InetAddress.toString(): "/127.0.0.1"); an IPv4 client of a
 * dual-stack socket ("::ffff:127.0.0.1") is shown as its IPv4 address.
 */
export function clientHost(remoteAddress: string): string {
  const address = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice('::ffff:'.length) : remoteAddress;
  return `/${address}`;
}
