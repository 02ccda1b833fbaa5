// The onConflict policy for a name already taken in the destination folder
// (Box 409 item_name_in_use with context_info.conflicts), shared by chunked sessions and direct uploads.
import type { OnConflict } from './contract.ts';
import { NameConflictError } from './errors.ts';

interface BoxErrorShape {
  name?: string;
  status?: number;
  code?: string;
  contextInfo?: Record<string, unknown>;
}

function boxError(err: unknown): BoxErrorShape | undefined {
  return typeof err === 'object' && err !== null && typeof (err as BoxErrorShape).name === 'string' && (err as BoxErrorShape).name!.startsWith('Box.')
    ? (err as BoxErrorShape)
    : undefined;
}

/** The item that holds the name, when `err` is Box's 409 item_name_in_use. */
export function nameConflict(err: unknown): { id?: string; type?: string } | undefined {
  const e = boxError(err);
  if (e?.code !== 'item_name_in_use') return undefined;
  // Box sends an object for file uploads; the OpenAPI schema says an array. Accept both.
  const raw = e.contextInfo?.conflicts;
  const item = (Array.isArray(raw) ? raw[0] : raw) as { id?: unknown; type?: unknown } | undefined;
  return {
    ...(typeof item?.id === 'string' ? { id: item.id } : {}),
    ...(typeof item?.type === 'string' ? { type: item.type } : {}),
  };
}

/** The session Box already created, when `err` is a 409 session_conflict (a retried create). */
export function conflictingSession<T>(err: unknown): T | undefined {
  const e = boxError(err);
  if (e?.code !== 'session_conflict') return undefined;
  const session = e.contextInfo?.session;
  return typeof session === 'object' && session !== null ? (session as T) : undefined;
}

/** Box's longest item name. */
const MAX_NAME_LENGTH = 255;

/**
 * "name (n).ext" (the extension is what follows the last dot, unless the name starts with it),
 * shortening the stem so the result stays within Box's 255 characters.
 */
export function renamedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const stem = dot <= 0 ? name : name.slice(0, dot);
  const ext = dot <= 0 ? '' : name.slice(dot);
  const suffix = ` (${n})`;
  const room = Math.max(1, MAX_NAME_LENGTH - suffix.length - ext.length);
  // Trailing spaces are not allowed in Box names; a cut may leave some.
  return `${[...stem].slice(0, room).join('').trimEnd()}${suffix}${ext}`;
}

export interface ConflictHandlers<T> {
  /** Try to create under `fileName` (throws Box's 409 item_name_in_use when it is taken). */
  create(fileName: string): Promise<T>;
  /** Upload as a new version of the file that holds the name. */
  createVersion(fileId: string): Promise<T>;
  /**
   * The file that holds the name, if it already holds exactly these bytes (an earlier try whose answer
   * was lost): then that is the result, under any policy.
   */
  alreadyThere?(fileId: string): Promise<T | undefined>;
}

/** The conflicting item, if it is a file that `alreadyThere` recognises as this upload. */
async function ours<T>(handlers: ConflictHandlers<T>, conflict: { id?: string; type?: string }): Promise<T | undefined> {
  if (handlers.alreadyThere === undefined || conflict.id === undefined || (conflict.type !== undefined && conflict.type !== 'file')) return undefined;
  return handlers.alreadyThere(conflict.id);
}

/** Runs `create`, applying the policy on item_name_in_use. */
export async function withConflictPolicy<T>(
  policy: OnConflict,
  fileName: string,
  folderId: string,
  handlers: ConflictHandlers<T>,
  maxRenameAttempts: number,
): Promise<T> {
  try {
    return await handlers.create(fileName);
  } catch (err) {
    const conflict = nameConflict(err);
    if (conflict === undefined) throw err;
    const same = await ours(handlers, conflict);
    if (same !== undefined) return same;
    const taken = `"${fileName}" is already used in Box folder ${folderId}`;
    if (policy === 'fail') throw new NameConflictError(`${taken} (onConflict: fail)`, { cause: err });
    if (policy === 'version') {
      if (conflict.id === undefined || (conflict.type !== undefined && conflict.type !== 'file')) {
        throw new NameConflictError(`${taken} by a ${conflict.type ?? 'item'} that cannot take a new version`, { cause: err });
      }
      return await handlers.createVersion(conflict.id);
    }
    for (let n = 1; n <= maxRenameAttempts; n++) {
      try {
        return await handlers.create(renamedName(fileName, n));
      } catch (again) {
        const taken = nameConflict(again);
        if (taken === undefined) throw again;
        // An earlier try may have stored the file under this renamed name: that is the result, not name (n+1).
        const renamedOurs = await ours(handlers, taken);
        if (renamedOurs !== undefined) return renamedOurs;
      }
    }
    throw new NameConflictError(`${taken}, and so are "${renamedName(fileName, 1)}" to "${renamedName(fileName, maxRenameAttempts)}"`, {
      cause: err,
    });
  }
}
