// Process entry of the channels server. Flags: see servers/_kit/main.ts.
//   node servers/channels/main.ts --keys-dir KEYS --issuer URL --data-dir DIR      (behind the proxy)
//   node servers/channels/main.ts --stdio --agent alice --data-dir DIR               (direct, e.g. Claude Desktop)
import { runKitServer } from '../_kit/main.ts';
import { channelsServerSpec } from './server.ts';

await runKitServer(channelsServerSpec);
