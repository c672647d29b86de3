// The CLI from the sources (what bin/seedwatch.js runs from dist/), so that the test drives the
// code under test without a build step.
import { main } from '../../../agent/cli.js';

await main(process.argv);
