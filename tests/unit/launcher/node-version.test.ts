// The CLI's first check: which Node versions can run MCPCP (type stripping on by default), and what it says to
// the others.
import { describe, expect, it } from 'vitest';
import { minimumNode, nodeVersionProblem } from '../../../launcher/bin/node-version.js';

describe('nodeVersionProblem', () => {
  it.each(['22.18.0', '22.20.1', '23.6.0', '23.11.1', '24.0.0', '24.21.0', '26.1.0', 'v24.1.0'])(
    'accepts %s',
    (version) => {
      expect(nodeVersionProblem(version, '/usr/bin/node')).toBeUndefined();
    },
  );

  it.each(['20.20.2', '18.19.0', '22.12.0', '22.17.1', '23.5.0', '21.7.3', 'garbage'])(
    'refuses %s, saying what it needs and what to install',
    (version) => {
      const problem = nodeVersionProblem(version, '/usr/bin/node');
      expect(problem).toContain(`MCPCP needs Node.js ${minimumNode} or newer`);
      expect(problem).toContain(`this is Node ${version} (/usr/bin/node)`);
      expect(problem).toContain('Install Node 24 LTS');
    },
  );
});
