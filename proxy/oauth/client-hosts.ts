// Which hosts' Client ID Metadata Documents are accepted: any (no list), or those on `oauth.clients.allowedHosts`
// (exact names, or "*.example.com" for subdomains of example.com). Pure.

export function hostAllowed(hostname: string, allowedHosts: readonly string[] | undefined): boolean {
  if (allowedHosts === undefined) return true;
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return allowedHosts.some((entry) => {
    const pattern = entry.toLowerCase();
    return pattern.startsWith('*.')
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern;
  });
}
