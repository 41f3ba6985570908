// Which images an agent may use and the call-level numbers a profile bounds (deadline, stdin size). Pure over the
// runner file: an image is allowed when it is listed and, if the image names agents, the caller is one of them. It
// must not call Docker.
import type { ImageProfile, RunnerConfig } from '../../config/docker-runner.ts';
import { McpcpError } from '../../lib/errors.ts';
import { decodeContent } from './files.ts';

export interface Allowlist {
  /** The profile of an image this agent may use; ERR_IMAGE_NOT_ALLOWED (naming the ones it may) otherwise. */
  profile(agent: string, image: string): ImageProfile;
  /** The images this agent may use, in the runner file's order. */
  allowed(agent: string): Array<[string, ImageProfile]>;
}

export function createAllowlist(images: RunnerConfig['images']): Allowlist {
  const mayUse = (agent: string, profile: ImageProfile) =>
    profile.agents === undefined || profile.agents.includes(agent);
  const allowed = (agent: string) => Object.entries(images).filter(([, profile]) => mayUse(agent, profile));
  return {
    allowed,
    profile(agent, image) {
      const profile = Object.hasOwn(images, image) ? images[image] : undefined;
      if (profile !== undefined && mayUse(agent, profile)) return profile;
      const names = allowed(agent).map(([name]) => name);
      throw new McpcpError(
        'ERR_IMAGE_NOT_ALLOWED',
        `image ${JSON.stringify(image)} is not on this runner's allowlist; ` +
          (names.length > 0 ? `you may use: ${names.join(', ')}` : 'no image is allowed for you'),
      );
    },
  };
}

/** A call's deadline: the profile's, or a shorter one it asked for (never longer). */
export function callTimeout(profile: ImageProfile, requested: number | undefined): number {
  if (requested === undefined) return profile.timeoutMs;
  if (!Number.isInteger(requested) || requested < 1 || requested > profile.timeoutMs)
    throw new McpcpError(
      'ERR_INVALID_ARGUMENT',
      `timeout_ms must be 1..${profile.timeoutMs} for this image (a call may only shorten it)`,
    );
  return requested;
}

/** A call's stdin as bytes, at most the profile's file size. */
export function callStdin(profile: ImageProfile, stdin: string | undefined): Buffer | undefined {
  return stdin === undefined ? undefined : decodeContent(stdin, 'utf8', profile.maxFileBytes);
}
