// Process entry of the code-runner server. Flags: see servers/_kit/main.ts, plus --python-pool N, --js-workers N,
// --python-snapshot off.
//   node servers/code-runner/main.ts --keys-dir KEYS --issuer URL --data-dir DIR      (behind the proxy)
//   node servers/code-runner/main.ts --stdio --data-dir DIR                           (direct, e.g. Claude Desktop)
import { runKitServer } from '../_kit/main.ts';
import { codeRunnerServerSpec } from './server.ts';

await runKitServer(codeRunnerServerSpec);
