import type { ProviderPreset } from './preset.js';

/** `*.office365.com` → a case-insensitive RegExp where `*` is any run of host characters. */
function hostGlob(glob: string): RegExp {
  const src = glob
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^\\s/:]*');
  return new RegExp(`^${src}$`, 'i');
}

/**
 * The preset whose `oauth2.relay.hosts` match a relay path's SMTP host: its token endpoint and
 * relay scope serve that path's smtp.auth.oauth2. First preset in name order wins; none when no
 * preset claims the host (the path must then name its tokenUrl).
 */
export function relayPresetFor(host: string, presets: ReadonlyMap<string, ProviderPreset>): ProviderPreset | undefined {
  for (const preset of presets.values()) {
    if (preset.oauth2?.relay?.hosts.some((g) => hostGlob(g).test(host))) return preset;
  }
  return undefined;
}
