import type { A2pTaskState, JsonValue } from '../db/schema.js';
import type { TaskRow } from './taskRepository.js';

/** What a task moves to next, as the progress code decides it (taskProgress.ts, datasetTaskProgress.ts). */
export interface Step {
  state: A2pTaskState;
  text: string;
  exampleId?: string;
  artifacts?: JsonValue[];
}

/** Nothing to write when the task already says this (a poll must not rewrite the row). */
export function unlessSaid(row: TaskRow, step: Step): Step | undefined {
  const parts = (row.status as { message?: { parts?: { text?: unknown }[] } }).message?.parts ?? [];
  return row.state === step.state && parts.some((part) => part.text === step.text) ? undefined : step;
}
