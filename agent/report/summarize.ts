/**
 * Kept only for importers outside this folder that still say `summarize`; the matrix is the
 * domain's (agent/domain/placement-matrix.ts). Remove once nothing imports this file.
 */
export { placementMatrix as summarize, percentile, type MatrixCell } from '../domain/placement-matrix.js';
