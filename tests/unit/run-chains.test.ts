import { describe, expect, it } from "vitest";
import { claudeArguments } from "../../components/agents/claude";
import { parseStackConfig } from "../../components/config/stack-schema";
import { ConfigError } from "../../components/values/config-error";

const host = { homeDir: "/home/me" };
const sandboxes = [
  { name: "main", workspace: "/home/me/code/app" },
  { name: "other", workspace: "/home/me/code/other" },
];
const run = (name: string, extra: Record<string, unknown> = {}) => ({ name, sandbox: "main", prompt: "p", ...extra });

function problemsOf(runs: Record<string, unknown>[]): string[] {
  try {
    parseStackConfig({ sandboxes, runs }, host);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("config was accepted");
}

describe("run config: ephemeral runs and session chains", () => {
  it("defaults to a run in the sandbox itself, keeping nothing, resuming nothing", () => {
    const [parsed] = parseStackConfig({ sandboxes, runs: [run("a")] }, host).runs;
    expect(parsed).toMatchObject({ ephemeral: false, keepFinished: 0, fork: false });
    expect(parsed.resume).toBeUndefined();
  });

  it("accepts a chain of runs in one sandbox, forks included", () => {
    const config = parseStackConfig(
      { sandboxes, runs: [run("a", { ephemeral: true, keepFinished: 2 }), run("b", { resume: "a" }), run("c", { resume: "b", fork: true })] },
      host,
    );
    expect(config.runs.map((parsed) => [parsed.name, parsed.resume, parsed.fork])).toEqual([
      ["a", undefined, false],
      ["b", "a", false],
      ["c", "b", true],
    ]);
  });

  it("refuses keepFinished on a run that is not ephemeral", () => {
    expect(problemsOf([run("a", { keepFinished: 1 })])).toEqual([
      "runs[0].keepFinished: keeps finished ephemeral run containers, but this run is not ephemeral; set ephemeral: true or remove keepFinished",
    ]);
  });

  it("refuses a negative keepFinished with the allowed range", () => {
    expect(problemsOf([run("a", { ephemeral: true, keepFinished: -1 })])).toEqual([
      "runs[0].keepFinished: must be a whole number from 0 to 100 (finished containers kept for inspection), e.g. 0",
    ]);
  });

  it("refuses fork without resume", () => {
    expect(problemsOf([run("a", { fork: true })])).toEqual([
      'runs[0].fork: forks the session of the run named in resume, but resume is unset; set resume: "<another run>" or remove fork',
    ]);
  });

  it("refuses resume of a run that does not exist, naming the runs it could resume", () => {
    expect(problemsOf([run("a"), run("b", { resume: "nope" })])).toEqual([
      'runs[1].resume: "nope" is not a configured run; resume a run of the same sandbox (one of: a)',
    ]);
  });

  it("refuses a run resuming itself", () => {
    expect(problemsOf([run("a", { resume: "a" })])).toEqual([
      'runs[0].resume: names this run itself; resume another run of the same sandbox (no other run is in sandbox "main")',
    ]);
  });

  it("refuses resume of a run in another sandbox: its session is in that sandbox's home volume", () => {
    expect(problemsOf([run("a", { sandbox: "other" }), run("b", { resume: "a" })])).toEqual([
      'runs[1].resume: run "a" is in sandbox "other", not "main"; sessions live in a sandbox\'s home volume, so resume a run of the same sandbox (no other run is in sandbox "main")',
    ]);
  });

  it("refuses a second run continuing one session without fork, and accepts forks of it", () => {
    expect(problemsOf([run("a"), run("b", { resume: "a" }), run("c", { resume: "a", fork: true }), run("d", { resume: "a" })])).toEqual([
      'runs[3].resume: run "a" is already continued by "b"; two runs appending to one session would write it at once, in no fixed order; set fork: true on this run, or resume "b" instead',
    ]);
  });

  it("refuses runs that resume each other in a circle, naming the circle", () => {
    expect(problemsOf([run("a", { resume: "c" }), run("b", { resume: "a" }), run("c", { resume: "b" }), run("d", { resume: "a", fork: true })])).toEqual([
      "runs[0].resume: runs a -> c -> b -> a resume each other in a circle; let one of them start its own session (remove its resume)",
      "runs[1].resume: runs b -> a -> c -> b resume each other in a circle; let one of them start its own session (remove its resume)",
      "runs[2].resume: runs c -> b -> a -> c resume each other in a circle; let one of them start its own session (remove its resume)",
    ]);
  });
});

describe("the agent CLI's session arguments", () => {
  const request = { maxTurns: 3, allowedTools: ["Read"] };

  it("continues a session with --resume, before the variadic --allowedTools", () => {
    expect(claudeArguments({ ...request, resumeSessionId: "s-1" }).slice(-4)).toEqual(["--resume", "s-1", "--allowedTools", "Read"]);
  });

  it("forks it with --fork-session", () => {
    expect(claudeArguments({ ...request, resumeSessionId: "s-1", forkSession: true }).slice(-5)).toEqual([
      "--resume",
      "s-1",
      "--fork-session",
      "--allowedTools",
      "Read",
    ]);
  });

  it("passes neither without a session to resume", () => {
    expect(claudeArguments({ ...request, forkSession: true }).join(" ")).not.toMatch(/--resume|--fork-session/);
  });
});
