# src/explain: page-walk explainer, debugfs dumps, DOT output (owner: explain)
