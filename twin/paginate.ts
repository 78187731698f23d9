// Opaque NextToken pagination as AWS list calls do it: a token encodes where the next page starts.

import { AwsError } from './aws-error';

export interface Page<T> {
  items: T[];
  nextToken: string | undefined;
}

/** A page of `items`; a token that this function did not hand out is refused with `invalidTokenCode`. */
export function paginate<T>(
  items: readonly T[],
  pageSize: number,
  nextToken: string | undefined,
  invalidTokenCode: string,
): Page<T> {
  let start = 0;
  if (nextToken !== undefined) {
    const match = /^twin-page-(\d+)$/.exec(Buffer.from(nextToken, 'base64').toString('utf8'));
    if (match === null) throw new AwsError(invalidTokenCode, 'The specified token is not valid.');
    start = Number(match[1]);
  }
  const end = start + pageSize;
  return {
    items: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(`twin-page-${end}`).toString('base64') : undefined,
  };
}
