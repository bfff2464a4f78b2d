/** The prose under the pipeline-3 tables: how to read them and what was tried (kept by hand). */
export const PIPELINE_NOTES = `
### Reading the results
(to be written)
`;
