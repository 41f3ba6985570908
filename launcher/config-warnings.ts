// What `mcpcp config check` warns about: parts of a valid config that are very likely mistakes but cannot
// be errors. A rule may name an agent that is declared nowhere, because agents may also arrive through
// OAuth. A glob may be unable to match any name on the rule's servers, and a deny glob like that lets the
// names it was meant to hide through. Pure over the frozen config.
import type { McpcpConfig } from '../config/schema.ts';
import { knownAgents } from './auth-settings.ts';

export interface ConfigWarning {
  /** Where, as the config's field path (`policy.rules[0].subjects[1]`). */
  readonly path: string;
  readonly message: string;
}

/** A glob's literal start: everything before its first glob syntax character. */
function literalPrefix(glob: string): string {
  const at = glob.search(/[*?[\]{}()!+@\\]/);
  return at === -1 ? glob : glob.slice(0, at);
}

const qualifiedNameChars = /^[a-zA-Z0-9_-]*$/;

/**
 * Whether a glob over qualified names (`<namespace>_<name>`) can match a name of one of these
 * namespaces. Globs whose literal start is not name-shaped (resource URIs such as `test://**`) are not
 * judged.
 */
function canMatchNamespaces(glob: string, namespaces: readonly string[]): boolean {
  const prefix = literalPrefix(glob);
  if (prefix === '' || !qualifiedNameChars.test(prefix)) return true;
  return namespaces.some((ns) => {
    if (ns === '') return true;
    const start = `${ns}_`;
    return prefix.startsWith(start) || start.startsWith(prefix);
  });
}

export function configWarnings(config: McpcpConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const known = knownAgents(config);
  config.policy.rules.forEach((rule, index) => {
    const at = `policy.rules[${index}]`;
    rule.subjects.forEach((subject, s) => {
      if (subject === '*' || subject.startsWith('group:') || known.has(subject)) return;
      warnings.push({
        path: `${at}.subjects[${s}]`,
        message:
          `rule "${rule.id}" names agent "${subject}", which is neither under agents: nor in a group ` +
          '(a typo? an agent that signs in with OAuth is fine; declaring it under agents: silences this)',
      });
    });
    const servers = rule.servers.includes('*')
      ? config.servers
      : config.servers.filter((server) => rule.servers.includes(server.id));
    const namespaces = servers.map((server) => server.namespace);
    for (const list of ['allow', 'deny'] as const) {
      rule[list].forEach((glob, g) => {
        if (canMatchNamespaces(glob, namespaces)) return;
        const starts = [...new Set(namespaces.map((ns) => `${ns}_`))].join('", "');
        warnings.push({
          path: `${at}.${list}[${g}]`,
          message:
            `${list} glob "${glob}" of rule "${rule.id}" can never match: names on its servers start with "${starts}"` +
            (list === 'deny' ? ', so whatever it was meant to deny is not denied by it' : ''),
        });
      });
    }
  });
  return warnings;
}
