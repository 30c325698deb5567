/**
 * Prints the isolation a new stack gets on this engine (stdout) and why (stderr): scripts/stack.sh writes
 * it into a stack that `npm run up` or `npm run preview` creates, as `npm run stack:new` does.
 */
import { isolationReason, newStackIsolation, offeredRuntimes } from "./developer-stack";

const isolation = newStackIsolation(offeredRuntimes());
console.error(`isolation ${isolation}: ${isolationReason(isolation)}`);
console.log(isolation);
