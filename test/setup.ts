// Per-worker test setup: point podman at the project's containers.conf (see COMPONENTS.md).
import { fileURLToPath } from "node:url";

process.env.CONTAINERS_CONF ??= fileURLToPath(new URL("./fixtures/containers.conf", import.meta.url));
