# Sourced by the gpu_*.sh scripts: timing lines and the bundle a device run brings back.
t0=$(date +%s)
say() { echo "== $(( $(date +%s) - t0 )) s: $*" | tee -a "$W/steps.log"; }

# bundle OUT W: keep the run's config and metrics, pack W into OUT/results.tar.gz, write
# OUT/summary.txt (steps, the training summary, the bench tables) and remove W.
bundle() {
  local out=$1 work=$2
  cp "$work/run/config.json" "$work/config.json"
  find "$work/run/logs" -name metrics.csv -exec cp {} "$work/metrics.csv" \;
  rm -rf "$work/run" "$work/data" "$work/train.npz"
  tar -czf "$out/results.tar.gz" -C "$out" "$(basename "$work")"
  { cat "$work/steps.log"; tail -n 4 "$work/train.log"; cat "$work/bench.txt"; } > "$out/summary.txt"
  rm -rf "$work"
}
