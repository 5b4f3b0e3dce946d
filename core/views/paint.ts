// Colours for the text view, only when asked (the CLI decides from TTY, NO_COLOR, --no-color).
// Plain ANSI SGR codes rather than util.styleText, which second-guesses the caller by looking at
// the process's own stdout. Pure: returns strings, writes nothing.
import type { Action } from "../../schema/index.js";

export type Paint = "bold" | "dim" | "red" | "green" | "yellow" | "magenta";
export type Painter = (style: Paint, text: string) => string;

const codes: Record<Paint, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  magenta: [35, 39],
};

export function painter(color: boolean): Painter {
  return color
    ? (style, text) => `\u001b[${codes[style][0]}m${text}\u001b[${codes[style][1]}m`
    : (_style, text) => text;
}

export const actionPaint: Record<Action, Paint> = {
  create: "green",
  update: "yellow",
  delete: "red",
  replace: "magenta",
};
