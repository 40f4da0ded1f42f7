package io.egressguard.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

/**
 * The serving certificate as PEM files in a writable folder, where the HTTPS server reads them ({@code
 * egressguard.tls.cert} and {@code egressguard.tls.key}, checked every {@code egressguard.tls.reload-period}; see
 * {@link ServingCertificate}).
 *
 * <p>{@code ca.crt}, {@code tls.crt} and {@code tls.key} change together, never one after the other: each version is
 * written to a new hidden folder, and a symbolic link {@code ..data} is switched to it with one atomic rename, the way
 * the kubelet updates a mounted Secret. The three names are links through {@code ..data}, so a reader never sees a
 * new certificate with an old key. Where symbolic links are not available each file is replaced atomically on its
 * own instead. Files are readable by their owner only.
 */
public final class PemDirectory {

    static final String DATA = "..data";
    private static final List<String> NAMES = List.of("ca.crt", "tls.crt", "tls.key");

    private final Path dir;
    private boolean links = true;

    /**
     * The PEM texts of one version.
     *
     * @param caCrt the CA bundle
     * @param tlsCrt the serving certificate, then its CA
     * @param tlsKey the serving certificate's private key
     */
    public record Contents(String caCrt, String tlsCrt, String tlsKey) {
    }

    public PemDirectory(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    /** The paths Quarkus and clients read: {@code ca.crt}, {@code tls.crt}, {@code tls.key}. */
    public SelfSignedCertificates.Files3 files() {
        return SelfSignedCertificates.Files3.in(dir);
    }

    /** What the files hold now, if all three are there. */
    public Optional<Contents> read() {
        SelfSignedCertificates.Files3 f = files();
        try {
            return Optional.of(new Contents(Files.readString(f.caCert(), StandardCharsets.US_ASCII),
                    Files.readString(f.cert(), StandardCharsets.US_ASCII),
                    Files.readString(f.key(), StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes a new version when it differs from what the files hold.
     *
     * @return whether the files changed
     */
    public synchronized boolean write(Contents contents) throws IOException {
        if (read().filter(contents::equals).isPresent()) {
            return false;
        }
        Files.createDirectories(dir);
        if (links) {
            try {
                switchTo(contents);
                return true;
            } catch (UnsupportedOperationException | FileSystemException e) {
                links = false;
                removeVersions(null);
            }
        }
        SelfSignedCertificates.writeAtomically(dir.resolve("tls.key"), contents.tlsKey());
        SelfSignedCertificates.writeAtomically(dir.resolve("tls.crt"), contents.tlsCrt());
        SelfSignedCertificates.writeAtomically(dir.resolve("ca.crt"), contents.caCrt());
        return true;
    }

    private void switchTo(Contents contents) throws IOException {
        Path version = Files.createTempDirectory(dir, "..");
        writeOwnerOnly(version.resolve("ca.crt"), contents.caCrt());
        writeOwnerOnly(version.resolve("tls.crt"), contents.tlsCrt());
        writeOwnerOnly(version.resolve("tls.key"), contents.tlsKey());
        Path staged = dir.resolve(DATA + "_tmp");
        Files.deleteIfExists(staged);
        Files.createSymbolicLink(staged, version.getFileName());
        // rename(2) over the old link: readers see the old version or the new one, never a mix
        Files.move(staged, dir.resolve(DATA), StandardCopyOption.ATOMIC_MOVE);
        for (String name : NAMES) {
            Path link = dir.resolve(name);
            if (!Files.isSymbolicLink(link)) {
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, Path.of(DATA, name));
            }
        }
        removeVersions(version.getFileName().toString());
    }

    /** Removes the version folders other than {@code keep} (all of them when it is null). */
    private void removeVersions(String keep) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "..*")) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.equals(keep) || name.equals(DATA) || Files.isSymbolicLink(entry)
                        || !Files.isDirectory(entry)) {
                    continue;
                }
                try (DirectoryStream<Path> files = Files.newDirectoryStream(entry)) {
                    for (Path f : files) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(entry);
            }
        }
        if (keep == null) {
            Files.deleteIfExists(dir.resolve(DATA));
            for (String name : NAMES) {
                if (Files.isSymbolicLink(dir.resolve(name))) {
                    Files.delete(dir.resolve(name));
                }
            }
        }
    }

    private static void writeOwnerOnly(Path file, String content) throws IOException {
        if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(file, content, StandardCharsets.US_ASCII);
    }
}
