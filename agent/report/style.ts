/**
 * The one stylesheet of the status page and the HTML weekly report, inlined in a <style>
 * element (with the response's CSP nonce when served) so the report file is self-contained.
 */
export const BASE_CSS = `
:root { --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff;
  --ok:#15803d; --ok-bg:#dcfce7; --warn:#b45309; --warn-bg:#fef3c7; --bad:#b91c1c; --bad-bg:#fee2e2; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; color:var(--fg); background:var(--bg); }
header.top { background:#0f172a; color:#f8fafc; padding:14px 28px; display:flex; flex-wrap:wrap; align-items:baseline; gap:8px 24px; }
header.top h1 { font-size:20px; margin:0; font-weight:650; letter-spacing:.2px; }
header.top .sub { color:#cbd5e1; font-size:13px; }
header.top nav { margin-left:auto; display:flex; gap:14px; font-size:13px; }
header.top a { color:#93c5fd; text-decoration:none; }
header.top a:hover { text-decoration:underline; }
main { padding:20px 28px 40px; max-width:1800px; }
section { margin:0 0 26px; }
h2 { font-size:16px; margin:0 0 10px; font-weight:650; }
h3 { font-size:14px; margin:16px 0 8px; font-weight:650; }
h3 .hint, h2 .hint { font-weight:400; color:var(--muted); font-size:12.5px; margin-left:8px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); gap:12px; margin-bottom:22px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.card .value { font-size:26px; font-weight:650; margin-top:2px; font-variant-numeric:tabular-nums; }
.card .detail { color:var(--muted); font-size:12.5px; }
.table-wrap { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:10px; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; text-align:right; border-bottom:1px solid var(--line); white-space:nowrap; vertical-align:top; }
th { background:#f1f5f9; font-size:12px; font-weight:600; color:#334155; position:sticky; top:0; }
th.l, td.l { text-align:left; }
tbody tr:nth-child(even) td { background:#fbfdff; }
tbody tr:hover td { background:#eff6ff; }
td.wrap { white-space:normal; min-width:180px; max-width:360px; overflow-wrap:anywhere; }
td.wrap.narrow { min-width:100px; max-width:170px; }
td a { color:var(--accent); text-decoration:none; }
td a:hover { text-decoration:underline; }
.muted { color:var(--muted); }
.mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); font-weight:600; }
.badge { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; background:#e2e8f0; color:#334155; }
.badge.ok { background:var(--ok-bg); color:var(--ok); } .badge.warn { background:var(--warn-bg); color:var(--warn); } .badge.bad { background:var(--bad-bg); color:var(--bad); }
.up { color:var(--ok); font-weight:600; } .down { color:var(--bad); font-weight:600; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fit,minmax(520px,1fr)); gap:16px; }
figure.chart { margin:0; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:10px 12px; }
figure.chart figcaption { font-weight:600; margin-bottom:4px; }
svg .grid { stroke:#e2e8f0; stroke-width:1; }
svg .axis { fill:#64748b; font-size:11px; }
svg .legend { fill:#334155; font-size:12px; }
footer { color:var(--muted); font-size:12px; padding:0 28px 24px; }
.stale { display:none; }
body.is-stale .stale { display:inline; color:var(--bad); font-weight:600; }
ul.plain { margin:0; padding-left:18px; }
.ci { color:var(--muted); font-weight:400; font-size:12px; }
.few { color:var(--muted); font-weight:400; font-size:12px; font-style:italic; }
ul.compare li { margin:2px 0; }
.sig { font-weight:700; }
.wrap-text { white-space:normal; max-width:360px; overflow-wrap:anywhere; font-size:12px; }
#reputation-ips td { text-align:left; }
#reputation-ips td[data-k=dnsbl], #reputation-ips td[data-k=snds] { white-space:normal; min-width:220px; max-width:380px; }
.swatch { display:inline-block; width:14px; height:14px; border-radius:3px; margin-right:2px; vertical-align:middle; background:#e2e8f0; }
.swatch.GREEN { background:var(--ok); } .swatch.YELLOW { background:#eab308; } .swatch.RED { background:var(--bad); }
`;
