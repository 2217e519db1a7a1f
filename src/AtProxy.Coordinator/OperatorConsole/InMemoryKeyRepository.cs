using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// The console's data-protection keys (they sign the sign-in and anti-forgery cookies), held in
/// memory only: the coordinator writes no key ring to disk, and a restart signs everyone out.
/// </summary>
internal sealed class InMemoryKeyRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_elements)
        {
            return [.. _elements.Select(e => new XElement(e))];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_elements)
        {
            _elements.Add(new XElement(element));
        }
    }
}
