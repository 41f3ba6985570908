// Types of node-version.js (plain JavaScript so that an old Node can load it).
export declare const minimumNode: string;
/** Why `version` cannot run MCPCP, or undefined when it can. */
export declare function nodeVersionProblem(version: string, execPath?: string): string | undefined;
/** Exits the process with code 1 and the reason on stderr when this Node cannot run MCPCP. */
export declare function exitUnlessSupportedNode(): void;
