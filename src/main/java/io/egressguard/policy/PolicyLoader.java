package io.egressguard.policy;

import io.egressguard.manifest.ManifestException;
import io.egressguard.manifest.ManifestReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Finds policy files: the built-in set packaged in the application ({@code policies/INDEX} on the class path) and
 * user folders laid out as {@code <dir>/<policy-id>/policy.yaml}. A user policy with the id of a built-in one
 * replaces it.
 */
public final class PolicyLoader {

    public static final String BUILTIN_PREFIX = "builtin:";

    private PolicyLoader() {
    }

    /** The built-in policy files, in id order. */
    public static List<PolicySource> builtIn() throws PolicyException {
        ClassLoader cl = PolicyLoader.class.getClassLoader();
        List<PolicySource> out = new ArrayList<>();
        try (InputStream index = cl.getResourceAsStream("policies/INDEX")) {
            if (index == null) {
                throw new PolicyException("the built-in policy index policies/INDEX is missing from the application");
            }
            for (String line : new String(index.readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
                String rel = line.trim().replace('\\', '/');
                if (rel.isEmpty()) {
                    continue;
                }
                try (InputStream in = cl.getResourceAsStream("policies/" + rel)) {
                    if (in == null) {
                        throw new PolicyException("built-in policy policies/" + rel + " is listed but missing");
                    }
                    String folder = rel.contains("/") ? rel.substring(0, rel.indexOf('/')) : "";
                    out.add(new PolicySource(BUILTIN_PREFIX + "policies/" + rel, folder,
                            new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                }
            }
        } catch (IOException e) {
            throw new PolicyException("cannot read the built-in policies: " + e.getMessage());
        }
        out.sort((a, b) -> a.folder().compareTo(b.folder()));
        return out;
    }

    /** The policy files under a folder: {@code <dir>/<id>/policy.yaml}, or {@code <dir>/policy.yaml} itself. */
    public static List<PolicySource> fromDirectory(Path dir) throws PolicyException {
        if (!Files.isDirectory(dir)) {
            throw new PolicyException(dir + ": not a folder of policies");
        }
        List<PolicySource> out = new ArrayList<>();
        Path single = dir.resolve("policy.yaml");
        try {
            if (Files.isRegularFile(single)) {
                out.add(read(single));
            }
            try (Stream<Path> children = Files.list(dir)) {
                for (Path child : children.sorted().toList()) {
                    Path file = child.resolve("policy.yaml");
                    if (Files.isDirectory(child) && Files.isRegularFile(file)) {
                        out.add(read(file));
                    }
                }
            }
        } catch (IOException e) {
            throw new PolicyException(dir + ": " + e.getMessage());
        }
        return out;
    }

    private static PolicySource read(Path file) throws PolicyException {
        try {
            Path parent = file.getParent();
            return new PolicySource(file.toString(), parent == null ? "" : parent.getFileName().toString(),
                    ManifestReader.readFile(file));
        } catch (ManifestException e) {
            throw new PolicyException(e.getMessage());
        }
    }

    /** Built-in policies (unless {@code includeBuiltIn} is false) merged with user folders; the same id overrides. */
    public static List<PolicySource> load(boolean includeBuiltIn, List<Path> userDirs) throws PolicyException {
        Map<String, PolicySource> byFolder = new TreeMap<>();
        if (includeBuiltIn) {
            for (PolicySource s : builtIn()) {
                byFolder.put(s.folder(), s);
            }
        }
        for (Path dir : userDirs) {
            for (PolicySource s : fromDirectory(dir)) {
                byFolder.put(s.folder().isEmpty() ? s.origin() : s.folder(), s);
            }
        }
        return List.copyOf(byFolder.values());
    }
}
