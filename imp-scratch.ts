const mods = process.argv.slice(2);
for (const m of mods) { const c = process.cpuUsage(); const t = performance.now(); await import(m); const u = process.cpuUsage(c); console.log(m, (performance.now() - t).toFixed(0), 'ms wall', ((u.user + u.system) / 1000).toFixed(0), 'ms cpu'); }
