// What Metabase's sync and DBeaver's table views ask of a PostgreSQL server through pgjdbc (Debian's
// libpostgresql-jdbc-java), run against shoplens's live SQL by tests/live.rs. Run as a single
// source file: `java -cp /usr/share/java/postgresql.jar Browse.java URL USER PASSWORD`.
//
// It prints one line per answer: `tables N`, then per table `table T columns C pk P imported I
// indexes X`, each foreign key as `fk FKTABLE.FKCOLUMN -> PKTABLE.PKCOLUMN`, each primary key as
// `pk T.COLUMN`, then `query ROWS SUM` for a prepared statement with a bound parameter read with a
// fetch size. Any failure ends it with the driver's message and exit code 1.
import java.sql.*;
import java.util.*;

public class Browse {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);
        try (Connection c = DriverManager.getConnection(args[0], props)) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseProductVersion());
            List<String> schemas = new ArrayList<>();
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
            }
            if (!schemas.contains("public")) throw new IllegalStateException("no schema public: " + schemas);
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            System.out.println("tables " + tables.size());
            try (ResultSet rs = md.getTypeInfo()) {
                int n = 0;
                while (rs.next()) n++;
                if (n == 0) throw new IllegalStateException("getTypeInfo: no types");
            }
            for (String t : tables) {
                int columns = 0, pk = 0, imported = 0, indexes = 0;
                try (ResultSet rs = md.getColumns(null, "public", t, "%")) {
                    while (rs.next()) columns++;
                }
                try (ResultSet rs = md.getPrimaryKeys(null, "public", t)) {
                    while (rs.next()) {
                        pk++;
                        System.out.println("pk " + t + "." + rs.getString("COLUMN_NAME") + " " + rs.getString("PK_NAME")
                                + " " + rs.getInt("KEY_SEQ"));
                    }
                }
                try (ResultSet rs = md.getImportedKeys(null, "public", t)) {
                    while (rs.next()) {
                        imported++;
                        System.out.println("fk " + rs.getString("FKTABLE_NAME") + "." + rs.getString("FKCOLUMN_NAME")
                                + " -> " + rs.getString("PKTABLE_NAME") + "." + rs.getString("PKCOLUMN_NAME"));
                    }
                }
                try (ResultSet rs = md.getExportedKeys(null, "public", t)) {
                    while (rs.next()) {}
                }
                try (ResultSet rs = md.getIndexInfo(null, "public", t, false, true)) {
                    while (rs.next()) {
                        indexes++;
                        System.out.println("index " + t + "." + rs.getString("COLUMN_NAME") + " " + rs.getString("INDEX_NAME")
                                + " unique=" + !rs.getBoolean("NON_UNIQUE"));
                    }
                }
                System.out.println("table " + t + " columns " + columns + " pk " + pk + " imported " + imported
                        + " indexes " + indexes);
            }
            c.setAutoCommit(false); // a fetch size streams only outside autocommit
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT order_key, quantity FROM fact_order_line WHERE quantity >= ? ORDER BY order_key")) {
                ps.setInt(1, 1);
                ps.setFetchSize(500);
                long rows = 0, sum = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows++;
                        sum += rs.getLong(2);
                    }
                }
                System.out.println("query " + rows + " " + sum);
            }
        } catch (SQLException e) {
            System.out.println("error " + e.getSQLState() + " " + e.getMessage());
            System.exit(1);
        }
    }
}
