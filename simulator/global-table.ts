/**
 * A DynamoDB global table on the embedded default: one real table per Region (dynalite), and replication
 * between them with a delay the test controls. Each Region's items (sort key `REGION#<region>`, written only
 * by that Region, as the pair view is) are copied to the other Region's table once they have stood unchanged
 * in their own table for `delayMs`, and only while both Regions are up: what the orchestrators read is a
 * stale view exactly when AWS would give them one (replication delay, a Region down), or longer when a test
 * pauses replication.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '#lib/ports.ts';

export interface ReplicaTable {
  region: string;
  tableName: string;
}

/** One write that reached the other Region's table: from when it stood in its own table to when it arrived. */
export interface ReplicatedWrite {
  from: ReplicaTable;
  to: ReplicaTable;
  at: number;
  latencyMs: number;
}

export class GlobalTableReplication {
  /** How long a Region's write takes to reach the other Region's table. */
  delayMs: number;
  /** While paused nothing replicates: a view that lags as long as the test wants. */
  paused = false;
  /** Regions no write replicates to (a one-way fault: the other direction goes on). */
  readonly blockedTo = new Set<string>();
  /** Every copy made, in order: when an item reached the other Region's table (what tests check against). */
  readonly copies: Array<{ at: number; to: string; item: Record<string, unknown> }> = [];
  /** Told of each write replicated: what CloudWatch's ReplicationLatency of the table is made of. */
  private readonly onCopy: ((copy: ReplicatedWrite) => void) | undefined;
  private readonly doc: DynamoDBDocumentClient;
  private readonly client: DynamoDBClient;
  /** Per item (table, key): its content and when it was first seen with that content. */
  private readonly seen = new Map<string, { json: string; since: number }>();

  constructor(
    endpoint: string,
    private readonly tables: [ReplicaTable, ReplicaTable],
    private readonly clock: Clock,
    private readonly isRegionUp: (region: string) => boolean,
    options: { delayMs?: number; onCopy?: (copy: ReplicatedWrite) => void } = {},
  ) {
    this.delayMs = options.delayMs ?? 1_000;
    this.onCopy = options.onCopy;
    this.client = new DynamoDBClient({
      endpoint,
      region: tables[0].region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.doc = DynamoDBDocumentClient.from(this.client);
  }

  /** Copies every item that has waited out the delay; call it as time passes. Returns how many were copied. */
  async replicate(): Promise<number> {
    if (this.paused) return 0;
    const [a, b] = this.tables;
    if (!this.isRegionUp(a.region) || !this.isRegionUp(b.region)) return 0;
    const [itemsA, itemsB] = await Promise.all([this.scan(a), this.scan(b)]);
    return (await this.copy(a, itemsA, b, itemsB)) + (await this.copy(b, itemsB, a, itemsA));
  }

  close(): void {
    this.client.destroy();
  }

  private async scan(table: ReplicaTable): Promise<Record<string, unknown>[]> {
    const out = await this.doc.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true }));
    return out.Items ?? [];
  }

  /** Copies `from`'s own items that `to` lacks or holds older, once each has stood for the delay. */
  private async copy(from: ReplicaTable, items: Record<string, unknown>[], to: ReplicaTable, there: Record<string, unknown>[]) {
    const now = this.clock.now();
    const key = (i: Record<string, unknown>) => `${String(i.pk)}|${String(i.sk)}`;
    const theirs = new Map(there.map((i) => [key(i), JSON.stringify(i)]));
    let copied = 0;
    for (const item of items) {
      if (item.sk !== `REGION#${from.region}`) continue; // only the writer's own items leave its Region
      if (this.blockedTo.has(to.region)) continue;
      const json = JSON.stringify(item);
      const id = `${from.tableName}|${key(item)}`;
      const seen = this.seen.get(id);
      if (!seen || seen.json !== json) this.seen.set(id, { json, since: now });
      const since = this.seen.get(id)?.since ?? now;
      if (theirs.get(key(item)) === json || now - since < this.delayMs) continue;
      await this.doc.send(new PutCommand({ TableName: to.tableName, Item: item }));
      this.copies.push({ at: now, to: to.region, item });
      this.onCopy?.({ from, to, at: now, latencyMs: now - since });
      copied += 1;
    }
    return copied;
  }
}
