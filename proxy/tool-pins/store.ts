// Where pins live: the approved and the last seen definition of every tool of every child, and a history of what
// happened to each (first seen, changed, approved). SQLite (node:sqlite, WAL) in the fleet's data folder, so pins
// survive restarts; ':memory:' when a proxy runs without a data folder. One small table each; every write is one
// statement. It must not decide what is hidden: pins.ts does.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export interface PinRecord {
  readonly server: string;
  readonly tool: string;
  readonly approvedHash: string;
  /** JSON text of the approved definition. */
  readonly approvedDefinition: string;
  readonly approvedAt: number;
  /** 'first-seen' when nobody approved it (pinned when first seen), else who approved it. */
  readonly approvedBy: string;
  readonly seenHash: string;
  readonly seenDefinition: string;
  readonly seenAt: number;
}

export interface PinEvent {
  readonly server: string;
  readonly tool: string;
  readonly event: 'first-seen' | 'changed' | 'approved';
  readonly hash: string;
  readonly at: number;
  readonly by?: string | undefined;
}

export interface PinStore {
  all(): PinRecord[];
  get(server: string, tool: string): PinRecord | undefined;
  put(record: PinRecord): void;
  addEvent(event: PinEvent): void;
  events(server?: string, tool?: string): PinEvent[];
  close(): void;
}

/** The pin database of a fleet's data folder. */
export function pinFileIn(dataDir: string): string {
  return join(dataDir, 'tool-pins.sqlite');
}

export function openPinStore(file: string): PinStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  db.exec(`CREATE TABLE IF NOT EXISTS tool_pins (
      server TEXT NOT NULL, tool TEXT NOT NULL,
      approved_hash TEXT NOT NULL, approved_definition TEXT NOT NULL, approved_at INTEGER NOT NULL,
      approved_by TEXT NOT NULL,
      seen_hash TEXT NOT NULL, seen_definition TEXT NOT NULL, seen_at INTEGER NOT NULL,
      PRIMARY KEY (server, tool)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS tool_pin_events (
      id INTEGER PRIMARY KEY, server TEXT NOT NULL, tool TEXT NOT NULL, event TEXT NOT NULL,
      hash TEXT NOT NULL, at INTEGER NOT NULL, by TEXT);`);
  const columns =
    'server, tool, approved_hash AS approvedHash, approved_definition AS approvedDefinition, approved_at AS approvedAt, approved_by AS approvedBy, seen_hash AS seenHash, seen_definition AS seenDefinition, seen_at AS seenAt';
  const selectAll = db.prepare(`SELECT ${columns} FROM tool_pins ORDER BY server, tool`);
  const selectOne = db.prepare(`SELECT ${columns} FROM tool_pins WHERE server = ? AND tool = ?`);
  const upsert = db.prepare(`INSERT INTO tool_pins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (server, tool) DO UPDATE SET approved_hash = excluded.approved_hash,
      approved_definition = excluded.approved_definition, approved_at = excluded.approved_at,
      approved_by = excluded.approved_by, seen_hash = excluded.seen_hash,
      seen_definition = excluded.seen_definition, seen_at = excluded.seen_at`);
  const insertEvent = db.prepare(
    'INSERT INTO tool_pin_events (server, tool, event, hash, at, by) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const eventColumns = 'server, tool, event, hash, at, by';
  const allEvents = db.prepare(`SELECT ${eventColumns} FROM tool_pin_events ORDER BY id`);
  const toolEvents = db.prepare(
    `SELECT ${eventColumns} FROM tool_pin_events WHERE server = ? AND tool = ? ORDER BY id`,
  );
  const plain = <T>(row: unknown): T => ({ ...(row as object) }) as T;
  const event = (row: unknown): PinEvent => {
    const { by, ...rest } = plain<PinEvent & { by: string | null }>(row);
    return by === null ? rest : { ...rest, by };
  };
  return {
    all: () => selectAll.all().map((row) => plain<PinRecord>(row)),
    get(server, tool) {
      const row = selectOne.get(server, tool);
      return row === undefined ? undefined : plain<PinRecord>(row);
    },
    put(r) {
      upsert.run(
        r.server,
        r.tool,
        r.approvedHash,
        r.approvedDefinition,
        r.approvedAt,
        r.approvedBy,
        r.seenHash,
        r.seenDefinition,
        r.seenAt,
      );
    },
    addEvent(e) {
      insertEvent.run(e.server, e.tool, e.event, e.hash, e.at, e.by ?? null);
    },
    events: (server, tool) =>
      (server === undefined || tool === undefined ? allEvents.all() : toolEvents.all(server, tool)).map(
        event,
      ),
    close: () => db.close(),
  };
}
