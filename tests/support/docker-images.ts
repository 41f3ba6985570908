// The locally built test images (tests/fixtures/docker/build-images.sh: nothing is pulled), built once per test
// process and cached by the engine under a tag that hashes their inputs. Needs a Docker engine (see services.ts).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export interface TestImage {
  /** name:tag, e.g. mcpcp-test/busybox:1a2b… */
  readonly ref: string;
  /** The image ID (sha256:…), what a runner profile pins. */
  readonly id: string;
}

export interface TestImages {
  /** Debian's static busybox and its applets. */
  readonly busybox: TestImage;
  /** busybox + the host's python3 (with its standard library and shared libraries), curl and wget. */
  readonly python: TestImage;
}

const script = resolve(import.meta.dirname, '../fixtures/docker/build-images.sh');
let built: Promise<TestImages> | undefined;

export function testImages(): Promise<TestImages> {
  built ??= promisify(execFile)(script, [], { maxBuffer: 1_048_576, timeout: 300_000 }).then(({ stdout }) => {
    const images: Record<string, TestImage> = {};
    for (const line of stdout.trim().split('\n')) {
      const { name, ref, id } = JSON.parse(line) as { name: string; ref: string; id: string };
      images[name] = { ref, id };
    }
    if (images.busybox === undefined || images.python === undefined)
      throw new Error(`build-images.sh printed no busybox/python image: ${stdout}`);
    return images as unknown as TestImages;
  });
  return built;
}
