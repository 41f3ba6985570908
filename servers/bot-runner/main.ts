// Process entry of the bot-runner server. Flags: see servers/_kit/main.ts.
//   node servers/bot-runner/main.ts --keys-dir KEYS --issuer URL     (behind the proxy / called by channels)
import { runKitServer } from '../_kit/main.ts';
import { botRunnerServerSpec } from './server.ts';

await runKitServer(botRunnerServerSpec);
