// Golden files of the three plan views over named scenarios, and the rules every view follows.
import { describe, expect, it } from "vitest";
import { renderJson } from "../../core/views/json.js";
import { PLAN_MARKER, renderMarkdown } from "../../core/views/markdown.js";
import { renderText } from "../../core/views/text.js";
import { validatePlan } from "../../schema/index.js";
import { planOf, scenarios } from "./scenarios.js";

const golden = (name: string, ext: string) => new URL(`../golden/${name}.${ext}`, import.meta.url).pathname;

describe("golden plans", () => {
  for (const s of scenarios) {
    it(s.name, async () => {
      const plan = planOf(s);
      const validate = validatePlan();
      expect(validate(JSON.parse(renderJson(plan))), JSON.stringify(validate.errors)).toBe(true);
      await expect(renderText(plan, { color: false })).toMatchFileSnapshot(golden(s.name, "txt"));
      await expect(
        renderMarkdown(plan, { fileUrl: (f, l) => `https://git.example.com/blob/2222222/${f}#L${l}` }),
      ).toMatchFileSnapshot(golden(s.name, "md"));
      await expect(renderJson(plan)).toMatchFileSnapshot(golden(s.name, "json"));
    });
  }
});

const byName = (name: string) => scenarios.find((s) => s.name === name)!;

describe("text view", () => {
  it("ends with the summary line or No changes.", () => {
    expect(
      renderText(planOf(byName("no-changes")), { color: false })
        .trimEnd()
        .split("\n")
        .at(-1),
    ).toBe("No changes.");
    expect(
      renderText(planOf(byName("scale-up")), { color: false })
        .trimEnd()
        .split("\n")
        .at(-1),
    ).toMatch(/^Plan: \d+ to add, \d+ to change, \d+ to remove\.$/);
    expect(renderText(planOf(byName("invalid-head")), { color: false })).toContain(
      "Plan: invalid (2 errors), nothing will be published.",
    );
  });

  it("lists only the symbols it uses", () => {
    const text = renderText(planOf(byName("scale-up")), { color: false });
    const legend = text.split("\n\n")[1] ?? "";
    expect(legend).toContain("+ create");
    expect(legend).not.toContain("destroy");
  });

  it("colours only when asked", () => {
    const plan = planOf(byName("node-cordoned"));
    const ansi = /\u001b\[/;
    expect(renderText(plan, { color: false })).not.toMatch(ansi);
    expect(renderText(plan, { color: true })).toMatch(ansi);
  });
});

describe("markdown view", () => {
  it("starts with the marker and stays within maxLength, saying when it truncates", () => {
    const plan = planOf(byName("first-plan"));
    const full = renderMarkdown(plan);
    expect(full.split("\n")[0]).toBe(PLAN_MARKER);
    expect(full).not.toContain("Truncated");
    for (const max of [400, 800, 1200, full.length - 1]) {
      const md = renderMarkdown(plan, { maxLength: max });
      expect(md.length).toBeLessThanOrEqual(max);
      expect(md).toContain("Truncated");
      expect(md).toContain("berth plan --format text");
      expect(md.split("```").length % 2).toBe(1); // code fences stay balanced
    }
  });

  it("links diagnostics when given fileUrl", () => {
    const md = renderMarkdown(planOf(byName("invalid-head")), { fileUrl: (f, l) => `https://x/${f}#L${l}` });
    expect(md).toContain("[`apps/web.yaml:6:11`](https://x/apps/web.yaml#L6): replicas must be &gt;= 0");
  });
});

describe("secrets", () => {
  it("no view shows the value of a secret-looking env key", () => {
    for (const s of scenarios) {
      const plan = planOf(s);
      for (const out of [renderText(plan, { color: false }), renderMarkdown(plan), renderJson(plan)]) {
        for (const secret of ["hunter2", "k-123", "correct-horse", "k-456"])
          expect(out).not.toContain(secret);
      }
    }
  });
});
