package io.egressguard.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PEM files a replica serves from change all at once, through one link switch. */
class PemDirectoryTest {

    static final PemDirectory.Contents V1 = new PemDirectory.Contents("ca-1\n", "crt-1\n", "key-1\n");
    static final PemDirectory.Contents V2 = new PemDirectory.Contents("ca-2\n", "crt-2\n", "key-2\n");

    @Test
    void writesTheThreeFilesAsLinksThroughOneDataLink(@TempDir Path dir) throws Exception {
        PemDirectory pems = new PemDirectory(dir.resolve("tls"));

        assertThat(pems.write(V1)).isTrue();

        assertThat(pems.read()).contains(V1);
        for (Path p : java.util.List.of(pems.files().caCert(), pems.files().cert(), pems.files().key())) {
            assertThat(Files.isSymbolicLink(p)).as(p.toString()).isTrue();
            assertThat(Files.readSymbolicLink(p).toString()).startsWith(PemDirectory.DATA);
        }
        assertThat(Files.isSymbolicLink(dir.resolve("tls").resolve(PemDirectory.DATA))).isTrue();
        assertThat(Files.getPosixFilePermissions(pems.files().key())).containsExactlyInAnyOrder(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    }

    @Test
    void aNewVersionReplacesTheOldOneAndLeavesNoOldVersionBehind(@TempDir Path dir) throws Exception {
        PemDirectory pems = new PemDirectory(dir);
        pems.write(V1);

        assertThat(pems.write(V2)).isTrue();

        assertThat(pems.read()).contains(V2);
        try (Stream<Path> entries = Files.list(dir)) {
            assertThat(entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("..") && !n.equals(PemDirectory.DATA))).hasSize(1);
        }
    }

    @Test
    void theSameContentsWriteNothing(@TempDir Path dir) throws Exception {
        PemDirectory pems = new PemDirectory(dir);
        pems.write(V1);
        Path target = Files.readSymbolicLink(dir.resolve(PemDirectory.DATA));

        assertThat(pems.write(new PemDirectory.Contents("ca-1\n", "crt-1\n", "key-1\n"))).isFalse();

        assertThat(Files.readSymbolicLink(dir.resolve(PemDirectory.DATA))).isEqualTo(target);
    }

    @Test
    void regularFilesLeftByAnEarlierRunBecomeLinks(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("tls.crt"), "old");
        Files.writeString(dir.resolve("tls.key"), "old");
        Files.writeString(dir.resolve("ca.crt"), "old");

        new PemDirectory(dir).write(V1);

        assertThat(Files.isSymbolicLink(dir.resolve("tls.crt"))).isTrue();
        assertThat(new PemDirectory(dir).read()).contains(V1);
    }
}
