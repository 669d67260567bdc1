/**
 * `greenio worker`, from greenio's sources: runs workerCommand() with this script's
 * arguments. With the package installed, the same is `greenio worker ...`.
 */
import { workerCommand } from '../../src/bullmq/cli.js';

process.exitCode = await workerCommand(process.argv.slice(2));
