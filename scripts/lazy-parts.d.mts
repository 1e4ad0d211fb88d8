/** Module id -> the names a lazy part reads of it. */
export function sharedReads(text: string, prefix: string, part?: string): Map<string, string[]>

/** Throws where `view` (module id -> the names given, or undefined for the whole module) lacks a name the lazy part `part` reads. */
export function checkLazyPart(options: {part: string; prefix: string; text: string; view: Map<string, string[] | undefined>}): void
