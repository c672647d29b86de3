/**
 * The process exit codes of every command, in one module that the CLI entry point and the
 * commands both import (so that agent/cli.ts and agent/cli/* do not import each other).
 * `seedwatch probe` is a go/no-go check in scripts: 1 must mean only "thresholds failed".
 */

/** Success; `probe`: every threshold held. */
export const EXIT_OK = 0;
/** `probe`: a threshold failed; `check`: the check found a problem; `auth`: the provider refused. */
export const EXIT_FAILED = 1;
/** Anything that prevented the command from doing its job: usage, bad config, cannot start. */
export const EXIT_ERROR = 2;
