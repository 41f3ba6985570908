// Cross-field checks of mcpcp.yaml that one field's schema cannot express: duplicate ids and namespaces,
// references to unknown servers and groups, constraints no allow glob reaches. Run by config/schema.ts
// after the shape is valid; issues carry paths so config/load.ts can point at file:line:col.
import picomatch from 'picomatch';
import type { z } from 'zod';

/** The part of a parsed config these checks read. */
interface CheckedConfig {
  readonly servers: readonly (
    | { readonly id: string; readonly namespace: string; readonly transport: 'stdio' }
    | {
        readonly id: string;
        readonly namespace: string;
        readonly transport: 'http';
        readonly url: string;
        readonly start?: unknown;
      }
  )[];
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly policy: {
    readonly rules: readonly {
      readonly id: string;
      readonly subjects: readonly string[];
      readonly servers: readonly string[];
      readonly allow: readonly string[];
      readonly arguments: Readonly<Record<string, unknown>>;
    }[];
  };
}

function groupOf(subject: string): string | undefined {
  return subject.startsWith('group:') ? subject.slice('group:'.length) : undefined;
}

export function checkReferences(config: CheckedConfig, ctx: z.RefinementCtx): void {
  const seenIds = new Map<string, number>();
  const seenNamespaces = new Map<string, number>();
  config.servers.forEach((server, index) => {
    const firstId = seenIds.get(server.id);
    if (firstId !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers', index, 'id'],
        message: `duplicate server id "${server.id}" (also servers[${firstId}])`,
      });
    } else seenIds.set(server.id, index);
    const firstNs = seenNamespaces.get(server.namespace);
    // A duplicate id that is also its namespace is reported once, as a duplicate id.
    if (firstNs !== undefined && (firstId === undefined || server.namespace !== server.id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers', index, server.namespace === server.id ? 'id' : 'namespace'],
        message: `duplicate namespace "${server.namespace}" (also servers[${firstNs}])`,
      });
    } else seenNamespaces.set(server.namespace, index);
    if (server.transport === 'http' && server.start === undefined && new URL(server.url).port === '0') {
      ctx.addIssue({
        code: 'custom',
        path: ['servers', index, 'url'],
        message: 'port 0 means "take the URL from the started child", so it needs `start`',
      });
    }
  });
  const seenRules = new Map<string, number>();
  config.policy.rules.forEach((rule, index) => {
    const first = seenRules.get(rule.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'rules', index, 'id'],
        message: `duplicate rule id "${rule.id}" (also policy.rules[${first}])`,
      });
    } else seenRules.set(rule.id, index);
    rule.servers.forEach((server, s) => {
      if (server !== '*' && !seenIds.has(server)) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'rules', index, 'servers', s],
          message: `unknown server "${server}" (known: ${[...seenIds.keys()].join(', ') || 'none'})`,
        });
      }
    });
    rule.subjects.forEach((subject, s) => {
      const group = groupOf(subject);
      if (group !== undefined && !Object.hasOwn(config.groups, group)) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'rules', index, 'subjects', s],
          message: `unknown group "${group}" (known: ${Object.keys(config.groups).join(', ') || 'none'})`,
        });
      }
    });
    // Constraints only apply to names the same rule allows; anything else is a typo that would do nothing.
    const allows = rule.allow.map((glob) => picomatch(glob, { dot: true }));
    for (const tool of Object.keys(rule.arguments)) {
      if (!allows.some((matches) => matches(tool))) {
        ctx.addIssue({
          code: 'custom',
          path: ['policy', 'rules', index, 'arguments', tool],
          message: `no allow glob of rule "${rule.id}" matches "${tool}", so these constraints would never apply`,
        });
      }
    }
  });
}
