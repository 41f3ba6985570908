// Process entry of the docker runner. Flags: see servers/_kit/main.ts, plus --runner-config FILE.
//   node servers/docker-runner/main.ts --keys-dir KEYS --issuer URL --runner-config docker-runner.yaml   (behind the proxy)
//   node servers/docker-runner/main.ts --stdio --agent alice --runner-config docker-runner.yaml            (direct)
import { runKitServer } from '../_kit/main.ts';
import { dockerRunnerServerSpec } from './server.ts';

await runKitServer(dockerRunnerServerSpec);
