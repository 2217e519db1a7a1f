using Microsoft.EntityFrameworkCore;

namespace AtProxy.EntityFrameworkCore.Tests;

public class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    public DbSet<Order> Orders => Set<Order>();

    public DbSet<OrderLine> Lines => Set<OrderLine>();

    public DbSet<Product> Products => Set<Product>();

    public DbSet<Ticket> Tickets => Set<Ticket>();

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<Order>(order =>
        {
            order.Property(o => o.Id).UseIdentityAlwaysColumn();
            order.OwnsOne(o => o.ShipTo);
            order.HasMany(o => o.Lines).WithOne().HasForeignKey(l => l.OrderId);
        });
        model.Entity<OrderLine>().Property(l => l.Id).UseSerialColumn();
        model.Entity<Product>(product =>
        {
            product.HasKey(p => p.Sku);
            product.Property(p => p.Version).IsRowVersion();
        });
        model.Entity<Ticket>().Property(t => t.Id).HasDefaultValueSql("gen_random_uuid()");
    }
}

public class Order
{
    public int Id { get; set; }

    public string Customer { get; set; } = "";

    public string Sku { get; set; } = "";

    public Address ShipTo { get; set; } = new();

    public List<OrderLine> Lines { get; set; } = [];
}

public class Address
{
    public string Street { get; set; } = "";

    public string City { get; set; } = "";
}

public class OrderLine
{
    public long Id { get; set; }

    public int OrderId { get; set; }

    public string Sku { get; set; } = "";

    public int Quantity { get; set; }
}

public class Product
{
    public string Sku { get; set; } = "";

    public int Stock { get; set; }

    public uint Version { get; set; }
}

public class Ticket
{
    public Guid Id { get; set; }

    public string Note { get; set; } = "";
}
