// The docker runner's own file (docker-runner.yaml): which images agents may run, pinned by digest, and the fixed
// hardened profile of each. Parsed once by zod into a frozen object, with file:line errors like mcpcp.yaml. It must
// not talk to Docker; servers/docker-runner turns a profile into container options and a call can only narrow it.
import { z } from 'zod';
import { deepFreeze } from './deep-freeze.ts';
import { parseYamlWithSchema, readConfigText } from './load.ts';
import { namePattern } from './schema.ts';

export const imageNamePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** An absolute container path with plain segments: no `..`, no `.`, no empty segment, not `/` itself. */
export function isPlainAbsolutePath(value: string): boolean {
  if (!value.startsWith('/') || value.length > 1024) return false;
  const segments = value.slice(1).split('/');
  return segments.every((s) => s !== '' && s !== '.' && s !== '..' && /^[A-Za-z0-9._@+-]+$/.test(s));
}

const containerPath = (what: string) =>
  z.string().refine(isPlainAbsolutePath, {
    error: `${what} must be an absolute path of plain segments (no "..", not "/"), e.g. /work`,
  });

const envMap = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: 'environment variable names must be identifiers' }),
    z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value)),
  )
  .default({});

const imageSchema = z
  .strictObject({
    ref: z.string().min(1).max(256).describe('name:tag, for people and `images()`; the digest is what runs.'),
    digest: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, {
        error:
          'digest must be sha256:<64 hex> (the image ID from `docker image inspect -f {{.Id}}`, or a repo digest)',
      })
      .describe(
        'The image ID or a repo digest. Containers are created from this, so a moved tag changes nothing.',
      ),
    description: z.string().max(500).optional(),
    agents: z
      .array(z.string().regex(namePattern, { error: `agent names must match ${String(namePattern)}` }))
      .optional()
      .describe('Agents that may use this image. Default: every agent the policy lets reach the runner.'),
    user: z
      .string()
      .regex(/^[1-9][0-9]{0,9}:[0-9]{1,10}$/, {
        error: 'user must be "UID:GID" in numbers with UID not 0: the runner never runs a container as root',
      })
      .default('65534:65534'),
    network: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, {
        error: 'network must be "none" or a Docker network name',
      })
      .refine((value) => value !== 'host' && value !== 'default', {
        error:
          'network "host" (or "default") would share the host network: grant a user-defined network instead',
      })
      .default('none')
      .describe('"none" (no network at all) unless this image is granted a Docker network by name.'),
    memoryMb: z
      .int()
      .min(8)
      .max(65_536)
      .default(256)
      .describe('Memory limit; swap is the same (none extra).'),
    cpus: z.number().min(0.01).max(64).default(1),
    pidsLimit: z.int().min(8).max(32_768).default(128),
    tmpfsMb: z.int().min(1).max(8_192).default(64).describe('Size of each tmpfs: /tmp and the workdir.'),
    tmpfsExec: z
      .boolean()
      .default(false)
      .describe('true: programs may be executed from /tmp and the workdir.'),
    workdir: containerPath('workdir').default('/work'),
    timeoutMs: z
      .int()
      .min(100)
      .max(24 * 3_600_000)
      .default(30_000)
      .describe("A run's or exec's deadline; a call's timeout_ms may only be shorter."),
    maxOutputBytes: z
      .int()
      .min(1_024)
      .max(256 * 1_048_576)
      .default(1_048_576)
      .describe('stdout and stderr together; past it the run is killed (exit_reason output_limit).'),
    maxFileBytes: z
      .int()
      .min(1_024)
      .max(64 * 1_048_576)
      .default(1_048_576)
      .describe('Largest file write_file writes or read_file returns.'),
    env: envMap.describe('Fixed environment; a call may add variables, not replace these.'),
    sessionCommand: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("What a session's container runs while idle. Default: sleep for the session's maximum life."),
  })
  .describe('One allowed image and its fixed profile.');

const runnerConfigSchema = z.strictObject({
  fleet: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, {
      error: 'fleet must match /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/',
    })
    .default('default')
    .describe(
      'Label value on every container; at start the runner removes leftovers with this label (one runner per fleet).',
    ),
  socket: z.string().min(1).default('/var/run/docker.sock').describe('Docker engine socket (the only one).'),
  concurrency: z
    .strictObject({
      running: z.int().min(1).max(256).default(4).describe('Runs, execs and file operations at once.'),
      queued: z
        .int()
        .min(0)
        .max(10_000)
        .default(64)
        .describe('Waiting beyond that; more is ERR_RUNNER_BUSY.'),
      queueTimeoutMs: z.int().positive().default(30_000),
    })
    .prefault({}),
  sessions: z
    .strictObject({
      idleMs: z.int().min(1_000).default(600_000).describe('A session unused this long is stopped.'),
      maxLifeMs: z
        .int()
        .min(1_000)
        .default(3_600_000)
        .describe('A session is stopped this long after its start.'),
      perAgent: z.int().min(0).max(1_000).default(4),
      total: z.int().min(0).max(10_000).default(32),
    })
    .prefault({}),
  images: z.record(
    z.string().regex(imageNamePattern, { error: `image names must match ${String(imageNamePattern)}` }),
    imageSchema,
  ),
});

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type RunnerConfig = DeepReadonly<z.output<typeof runnerConfigSchema>>;
export type RunnerConfigInput = z.input<typeof runnerConfigSchema>;
export type ImageProfile = RunnerConfig['images'][string];

export function parseRunnerConfig(text: string, fileName: string): RunnerConfig {
  return deepFreeze(parseYamlWithSchema(runnerConfigSchema, text, fileName));
}

/** Reads and parses a runner file; missing files are ERR_CONFIG_NOT_FOUND, mistakes ERR_CONFIG_INVALID with lines. */
export async function loadRunnerConfig(file: string): Promise<RunnerConfig> {
  return parseRunnerConfig(await readConfigText(file), file);
}
