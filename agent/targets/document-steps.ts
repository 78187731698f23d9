// The document's own `node -e` steps, as the agent recognises them: shared with the document's script
// (lib/drain-document.ts), which writes them, so that the agent never signals them.

/** The last argument of the document's checks that run node (its version, the time left to the deadline). */
export const AGENT_CHECK_MARKER = 'fleet-drain-agent-check';

/**
 * The last argument of the document's own `node -e` steps: the file it unpacks the agent into before it
 * renames it (fleet-drain-agent-<hash>.js.<pid>), or the checks' marker.
 */
export const DOCUMENT_STEP = /(^|\/)(fleet-drain-agent[\w.-]*\.js\.\d+|fleet-drain-agent-check)$/;
