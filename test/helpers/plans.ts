import type pg from 'pg'

/** A node of EXPLAIN (FORMAT JSON)'s plan, as far as the tests read it. */
export interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Index Cond'?: string
  Plans?: PlanNode[]
}

/** The plan PostgreSQL makes for `text` with its own `values`: explained (EXPLAIN (FORMAT JSON)), not run. */
export async function planOf(client: pg.Client, text: string, values?: unknown[]): Promise<PlanNode> {
  const explained = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
    `explain (format json) ${text}`,
    values,
  )
  return explained.rows[0]!['QUERY PLAN'][0]!.Plan
}

/** Every node of a plan that reads the items table (the update's own target aside). */
export function itemsScans(node: PlanNode, found: PlanNode[] = []): PlanNode[] {
  if (node['Relation Name'] === 'items' && node['Node Type'] !== 'ModifyTable') found.push(node)
  for (const child of node.Plans ?? []) itemsScans(child, found)
  return found
}
